/** Small pieces the admin screens share: a secret shown once, a confirmation, an error line. */
import { type ReactNode, useEffect, useRef, useState } from 'react';

export function ErrorLine({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<string>();
  return (
    <>
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setDone('Copied'),
            () => setDone('Copy failed: select the text and copy it by hand'),
          )
        }
      >
        {label}
      </button>
      {done && <output className="muted small"> {done}</output>}
    </>
  );
}

/** A credential as the hub issued it: shown here once, never again. */
export function SecretOnce({
  title,
  secret,
  children,
  onDone,
}: {
  title: string;
  secret: string;
  children?: ReactNode;
  onDone(): void;
}) {
  return (
    <div className="card secret" role="status" aria-live="polite">
      <h3>{title}</h3>
      <p>Copy it now: it is shown only this once, and only its hash is stored.</p>
      <div className="secret-row">
        <code data-testid="secret">{secret}</code>
        <CopyButton text={secret} />
      </div>
      {children}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

/** A modal confirmation for destructive actions; the question names exactly what goes. */
export function Confirm({
  question,
  action,
  onConfirm,
  onCancel,
}: {
  question: string;
  action: string;
  onConfirm(): void;
  onCancel(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="card" onCancel={onCancel} aria-labelledby="confirm-q">
      <p id="confirm-q">{question}</p>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          {action}
        </button>
      </div>
    </dialog>
  );
}
