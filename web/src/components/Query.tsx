/** The three states of a query in one place: loading, an error with a retry, or the data. */
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { Role } from '../api/types.ts';
import { ErrorState, Loading } from './States.tsx';

export function QueryView<T>({
  query,
  loading,
  role,
  children,
}: {
  query: UseQueryResult<T>;
  loading: string;
  role?: Role;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={loading} />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} role={role} />;
  return <>{children(query.data)}</>;
}
