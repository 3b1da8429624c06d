/**
 * Config schema: an instrument's `cleanup` (when the remover may free its disk).
 */
import { z } from 'zod';
import { bool, section } from './building-blocks.ts';

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
  }),
);
