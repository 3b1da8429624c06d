/** A retrieval's state badge with its download progress and, when it waits or failed, why. */
import { visibleText as visible } from '../../../../src/core/visible.ts';
import { When } from '../../components/When.tsx';
import { bytes } from '../../lib/format.ts';
import { type ApiRetrieval, fetchTone, progressOf } from './api.ts';

export function RetrievalState({ r }: { r: ApiRetrieval }) {
  const share = progressOf(r);
  return (
    <>
      <span className={`badge tone-${fetchTone(r.state)}`}>{r.state}</span>
      {r.state === 'downloading' && share !== undefined && (
        <>
          {' '}
          <progress value={share} max={1} aria-label={`retrieval ${r.id} progress`} />{' '}
          <span className="muted small">
            {bytes(Number(r.bytes_done))} of {bytes(Number(r.bytes_total))}
          </span>
        </>
      )}
      {r.why && <p className="reason">{visible(r.why)}</p>}
    </>
  );
}

/** Who asked when, and when the retrieved copy expires: two table cells. */
export function RequestedCells({ r }: { r: ApiRetrieval }) {
  return (
    <>
      <td>
        <When at={r.requested_at} /> by {r.requested_by}
      </td>
      <td>
        <When at={r.expires_at} never="—" />
      </td>
    </>
  );
}
