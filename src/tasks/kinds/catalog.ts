/**
 * Task kinds of one stage: the catalog (issue #22). Their names and specs (payload, pool, attempts,
 * de-duplication); src/tasks/catalogue.ts joins every stage's into `Kind` and `TASKS`. A new kind of
 * this stage goes here (a name and a spec), then a handler in src/runtime/handlers.ts.
 */

import { z } from 'zod';
import { type KindSpec, scheduled } from './spec.ts';

export const CatalogKind = {
  catalogIndex: 'catalog.index',
} as const;
const K = CatalogKind;

export const CATALOG_TASKS = {
  /**
   * Indexes the samples written since they were last indexed for search (`sample_search_queue`),
   * and any sample with no search row yet (catalog/search-index.ts). Enqueued by an import in its
   * transaction, and scheduled as a safety net; one at a time.
   */
  [K.catalogIndex]: {
    payload: z.object(scheduled),
    pool: 'default',
    maxAttempts: 10,
    dedupe: () => 'catalog.index',
  },
} as const satisfies Record<(typeof K)[keyof typeof K], KindSpec>;
