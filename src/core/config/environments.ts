/** The environments a config has overlays for (`--env`, `SLUICE_ENV`); no schema needed to read them. */
export const ENVIRONMENTS = ['local', 'sandbox', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
