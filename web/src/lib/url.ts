/** Page state kept in the URL's query string, so a filtered view can be bookmarked and shared. */
import { useCallback } from 'react';
import { useLocation, useSearch } from 'wouter';

/**
 * The current query parameters, and a setter that replaces some of them (empty string or
 * undefined removes one). Reads `window.location.search` itself: the router decodes `%25`
 * before URLSearchParams would, which would spoil a search for `%`.
 */
export function useQueryParams(): [URLSearchParams, (changes: Record<string, string | undefined>) => void] {
  useSearch(); // re-render when the query string changes
  const [location, navigate] = useLocation();
  const params = new URLSearchParams(window.location.search);
  const set = useCallback(
    (changes: Record<string, string | undefined>) => {
      const next = new URLSearchParams(window.location.search);
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined || v === '') next.delete(k);
        else next.set(k, v);
      }
      const s = next.toString();
      navigate(s ? `${location}?${s}` : location, { replace: true });
    },
    [location, navigate],
  );
  return [params, set];
}
