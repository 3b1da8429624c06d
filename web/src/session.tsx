/**
 * Who is logged in. `GET /api/me` decides: a 401 anywhere (an ended session) sends the user to
 * the login page and back to where they were afterwards; a one-time password must be changed
 * before anything else.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect } from 'react';
import { ApiError, api, handleUnauthorized, setCsrfToken } from './api/client.ts';
import type { Me } from './api/types.ts';

export const ME_KEY = ['me'] as const;

const SessionContext = createContext<Me | undefined>(undefined);

export function useMe(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error('useMe outside a logged-in session');
  return me;
}

export function SessionProvider({ me, children }: { me: Me; children: ReactNode }) {
  return <SessionContext.Provider value={me}>{children}</SessionContext.Provider>;
}

/** The session query: `null` when nobody is logged in. */
export function useSession() {
  const qc = useQueryClient();
  useEffect(() => {
    handleUnauthorized(() => qc.setQueryData(ME_KEY, null));
  }, [qc]);
  return useQuery({
    queryKey: ME_KEY,
    queryFn: async (): Promise<Me | null> => {
      try {
        const me = await api.me();
        setCsrfToken(me.csrfToken);
        return me;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
  });
}
