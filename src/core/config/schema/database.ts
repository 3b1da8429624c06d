/**
 * Config schema: `database` (a shared PostgreSQL URL or the embedded server's port, the pool size, database backups).
 */
import { z } from 'zod';
import { urlPortsValid } from '../limits.ts';
import { int, section } from './building-blocks.ts';
import { dbBackupsSchema } from './db-backups.ts';

export const databaseSchema = section(
  z.strictObject({
    /** Shared PostgreSQL; when absent Sluice runs an embedded PostgreSQL in data_dir. */
    url: z
      .string({ error: 'a PostgreSQL URL such as postgres://user:password@host:5432/sluice' })
      .refine((u) => /^postgres(ql)?:\/\/./i.test(u), {
        error: 'a URL starting with postgres:// or postgresql://',
      })
      .refine(urlPortsValid, {
        error: 'a URL whose port is between 1 and 65535, e.g. postgres://user:password@host:5432/sluice',
      })
      .optional(),
    embedded_port: int(1024, 65535).default(54329),
    pool_size: int(1, 100).default(10),
    /** Backup strategies for this database (see db-backups.ts). */
    backups: dbBackupsSchema,
  }),
);
