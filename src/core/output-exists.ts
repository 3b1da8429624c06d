/**
 * What processing does with an existing output folder (variable `output_exists_mode`, the
 * `--output-exists` option of `sluice files retry`); its own module so a command can offer the
 * choices without loading the variables' schemas.
 */
export const OUTPUT_EXISTS_MODES = ['raise', 'overwrite', 'associate', 'add'] as const;
export type OutputExistsMode = (typeof OUTPUT_EXISTS_MODES)[number];
