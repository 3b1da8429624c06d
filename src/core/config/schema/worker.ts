/**
 * Config schema: `worker` (concurrency, leases, heartbeats, polling, shutdown grace, stall limit and tags of the worker role).
 */
import { z } from 'zod';
import { always, int, num, section, strList } from './building-blocks.ts';

export const workerSchema = section(
  z
    .strictObject({
      concurrency: int(1).default(8),
      lease_seconds: num({ gte: 5 }, 'seconds').default(60),
      heartbeat_seconds: num({ gt: 0 }).default(10),
      poll_seconds: num({ gt: 0 }).default(2),
      shutdown_grace_seconds: num({ gte: 0 }).default(30),
      stall_seconds: num({ gte: 1 }, 'seconds').default(300),
      tags: strList('a tag').default([]),
    })
    .superRefine((w, ctx) => {
      const { lease_seconds: lease, heartbeat_seconds: beat } = w as {
        lease_seconds?: unknown;
        heartbeat_seconds?: unknown;
      };
      if (typeof lease !== 'number' || typeof beat !== 'number') return;
      if (beat >= lease / 2) {
        ctx.addIssue({
          code: 'custom',
          path: ['heartbeat_seconds'],
          message:
            `expected less than half of worker.lease_seconds (${lease} / 2 = ${lease / 2}), found ${beat}; ` +
            'a worker must renew its lease at least twice per lease period',
          params: { full: true },
        });
      }
    }, always),
);
