/** Rows of `{filter, access}`, each filter checked as it is typed with the protocol's own rules. */
import { type Access, filterError, type Permission } from '@edgewire/protocol';

export function permissionProblems(permissions: Permission[]): string[] {
  return permissions.map((p) => (p.filter ? (filterError(p.filter) ?? '') : 'a filter is needed'));
}

export function PermissionEditor({
  value,
  onChange,
}: {
  value: Permission[];
  onChange(next: Permission[]): void;
}) {
  const problems = permissionProblems(value);
  const set = (i: number, change: Partial<Permission>) =>
    onChange(value.map((p, j) => (j === i ? { ...p, ...change } : p)));
  return (
    <fieldset className="permissions">
      <legend>Permissions</legend>
      {value.map((p, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their position
        <div key={i} className="permission-row">
          <label>
            Filter {i + 1}
            <input
              value={p.filter}
              spellCheck={false}
              aria-invalid={Boolean(problems[i])}
              aria-describedby={`perm-${i}-problem`}
              onChange={(e) => set(i, { filter: e.target.value })}
            />
          </label>
          <label>
            Access
            <select value={p.access} onChange={(e) => set(i, { access: e.target.value as Access })}>
              <option value="read">read</option>
              <option value="readwrite">read and write</option>
            </select>
          </label>
          <button
            type="button"
            className="ghost"
            aria-label={`Remove filter ${i + 1}`}
            onClick={() => onChange(value.filter((_, j) => j !== i))}
          >
            ×
          </button>
          <p id={`perm-${i}-problem`} className="error small" aria-live="polite">
            {problems[i]}
          </p>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...value, { filter: '', access: 'read' }])}>
        Add a filter
      </button>
    </fieldset>
  );
}
