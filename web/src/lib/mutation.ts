/** An action that changes something on the server, then refreshes what shows it. */
import { type QueryKey, useMutation, useQueryClient } from '@tanstack/react-query';

export function useAction<A, R>(fn: (arg: A) => Promise<R>, refresh: QueryKey[]) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSettled: async () => {
      await Promise.all(refresh.map((queryKey) => qc.invalidateQueries({ queryKey })));
    },
  });
}
