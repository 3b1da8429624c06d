/**
 * Live updates: one EventSource on `/api/events` for the whole dashboard. File events mark the
 * data they touch as stale, and TanStack Query refetches what is on screen: an open file and the
 * file list at most once a second, the instrument cards (counts over the whole files table) at
 * most every 15 seconds. A closed stream (server restart,
 * ended session) is reopened after a pause; the stream resumes after the last event it saw.
 */
import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import type { FeedEvent } from './api/types.ts';

export type LiveState = 'connecting' | 'live' | 'off';

const LiveContext = createContext<LiveState>('off');

export function useLiveState(): LiveState {
  return useContext(LiveContext);
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');

  useEffect(() => {
    let es: EventSource | undefined;
    let reopen: ReturnType<typeof setTimeout> | undefined;
    let flush: ReturnType<typeof setTimeout> | undefined;
    let lastId: string | undefined;
    let cardsAt = 0;
    const touched = new Set<string>();
    let closed = false;

    const invalidate = () => {
      flush = undefined;
      for (const id of touched) void qc.invalidateQueries({ queryKey: ['file', id] });
      touched.clear();
      void qc.invalidateQueries({ queryKey: ['files'] });
      if (Date.now() - cardsAt > 15_000) {
        cardsAt = Date.now();
        void qc.invalidateQueries({ queryKey: ['instruments'] });
      }
    };

    const open = () => {
      setState('connecting');
      es = new EventSource(lastId ? `/api/events?after=${lastId}` : '/api/events');
      es.addEventListener('ready', () => setState('live'));
      es.addEventListener('file', (m) => {
        lastId = m.lastEventId || lastId;
        try {
          touched.add((JSON.parse(m.data) as FeedEvent).subject_id);
        } catch {
          // a malformed message changes nothing on screen
        }
        flush ??= setTimeout(invalidate, 1000);
      });
      es.onerror = () => {
        // the browser retries by itself while the stream is merely interrupted; a refused one
        // (401, server gone) is CLOSED for good: open a new one later
        if (es?.readyState === EventSource.CLOSED && !closed) {
          setState('off');
          reopen = setTimeout(open, 10_000);
        } else setState('connecting');
      };
    };
    open();
    return () => {
      closed = true;
      es?.close();
      clearTimeout(reopen);
      clearTimeout(flush);
    };
  }, [qc]);

  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}
