/**
 * A button that asks first: a modal <dialog> (focus moves to its first control, Escape
 * cancels) with the consequence spelled out. For destructive actions: drain, remove, revoke, ignore, retry.
 */
import { type ReactNode, useId, useRef } from 'react';

export function ConfirmButton(props: {
  label: string;
  title: string;
  children: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  disabled?: boolean;
  disabledReason?: string;
  onConfirm: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  return (
    <>
      <button
        type="button"
        className={props.danger ? 'danger' : undefined}
        disabled={props.disabled}
        title={props.disabled ? props.disabledReason : undefined}
        onClick={() => ref.current?.showModal()}
      >
        {props.label}
      </button>
      <dialog ref={ref} aria-labelledby={titleId} className="confirm">
        <form method="dialog">
          <h2 id={titleId}>{props.title}</h2>
          <div>{props.children}</div>
          <div className="buttons">
            <button type="submit" value="cancel">
              Cancel
            </button>
            <button
              type="submit"
              value="ok"
              className={props.danger ? 'danger' : 'primary'}
              onClick={() => props.onConfirm()}
            >
              {props.confirmLabel ?? props.label}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
