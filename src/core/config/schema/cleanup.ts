/**
 * Config schema: an instrument's `cleanup` (when the remover may free its disk).
 */
import { z } from 'zod';
import { FILESYSTEM_TARGET } from './backup-targets.ts';
import { bool, section, strList } from './building-blocks.ts';

export const cleanupSchema = section(
  z.strictObject({
    /** Deleting from instruments is refused outside `production` unless this is true. */
    allow_outside_production: bool().default(false),
    /**
     * The remover deletes an instrument copy only after its backup was re-read from storage (O_DIRECT).
     * With false it accepts a read through the page cache where the backup's filesystem refuses
     * O_DIRECT (and says so on the file's timeline).
     */
    require_storage_read: bool().default(true),
    /**
     * The backup targets whose copy must be verified — re-read from storage — before an instrument
     * copy is deleted: `backup` (the filesystem backup, always) and any of `backup.targets` by name.
     */
    require: strList('a backup target name').default([FILESYSTEM_TARGET]),
  }),
);
