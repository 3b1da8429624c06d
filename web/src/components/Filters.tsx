/** Filter controls shared by the files and metrics pages. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client.ts';

/** Every instrument, or "all instruments" (value ''). */
export function InstrumentSelect({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const instruments = useQuery({ queryKey: ['instruments'], queryFn: api.instruments });
  return (
    <label>
      Instrument
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">all instruments</option>
        {instruments.data?.instruments.map((i) => (
          <option key={i.id} value={i.id}>
            {i.id}
          </option>
        ))}
      </select>
    </label>
  );
}

/** From (inclusive) and until (exclusive) dates, as the API's `from` and `to`. */
export function DateRange({
  from,
  to,
  onChange,
}: {
  from: string;
  to: string;
  onChange: (key: 'from' | 'to', v: string) => void;
}) {
  return (
    <>
      <label>
        From
        <input type="date" value={from} onChange={(e) => onChange('from', e.target.value)} />
      </label>
      <label>
        Until (before)
        <input type="date" value={to} onChange={(e) => onChange('to', e.target.value)} />
      </label>
    </>
  );
}
