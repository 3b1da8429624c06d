/**
 * A timestamp shown as relative time, with the exact time on hover.
 */
import { dateTime, relative } from '../lib/format.ts';

/** "5 minutes ago", with the exact date and time on hover. */
export function When({ at, never = 'never' }: { at: string | null | undefined; never?: string }) {
  if (!at) return <>{never}</>;
  return (
    <time dateTime={at} title={dateTime(at)}>
      {relative(at)}
    </time>
  );
}
