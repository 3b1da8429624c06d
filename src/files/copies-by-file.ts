/**
 * The one SQL shape of the files repo's per-file reads of `copies`: a file's copies found from its id
 * through `copies_file`, fenced by `offset 0` so the filters on target / state stay outside.
 *
 * Why: `copies` has partial indexes on (target, …) where state = 'verified' (or 'corrupt'). On a
 * database whose `copies` was never analysed (a fresh site), or analysed when it was small, the
 * planner took `file_id = $1 and target = 'backup' and state = 'verified'` as a walk of one of those
 * indexes over every verified backup copy, filtering on the file id: 0.4 ms at 5,000 copies for one
 * file, 0.3 s for the remover's 300 candidates, and growing with the table until autoanalyze ran. The
 * fenced subquery mentions only `file_id`, so the only index it can use is `copies_file`: a probe of
 * the file's few copies whatever the statistics say. The results are those of the plain filter.
 */

/**
 * The copies of the file whose id is the SQL expression `fileId` (a parameter such as `$1` or a
 * column of the outer query such as `f.id`, in a `lateral` join), as a fenced subquery to alias:
 * `from ${copiesOfFile('$1')} c where c.target = … and c.state = …`. `fileId` is SQL text written in
 * this module's callers, never a value.
 */
export function copiesOfFile(fileId: string): string {
  return `(select * from copies where file_id = ${fileId} offset 0)`;
}

/**
 * The copies of the files whose ids are the SQL text array `fileIds` (a parameter such as `$1`),
 * each id probed once (duplicates in the array count once, as with `file_id = any($1)`), as a
 * subquery to alias: `from ${copiesOfFiles('$1')} c where c.target = … and c.state = …`.
 */
export function copiesOfFiles(fileIds: string): string {
  return `(select c.* from (select distinct unnest(${fileIds}::text[]) as file_id) u
     cross join lateral ${copiesOfFile('u.file_id')} c)`;
}
