-- A metric's unit as its extractor gave it (`ppm`, `min`), shown beside the name on the QC page and
-- the file page. Null for values recorded before this column existed and for unit-less figures.

alter table metrics add column unit text;
