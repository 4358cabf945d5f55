import { type FormEvent, useState } from 'react';
import { sendJson } from '../../api/http';
import type { Operator, Role } from '../../api/types';
import { useApp } from '../../app/store-context';
import { AdminTable } from './AdminTable';
import { Confirm, ErrorLine } from './parts';
import { useResource } from './use-resource';

export function UsersAdmin() {
  const { session } = useApp();
  const users = useResource<{ users: Operator[] }>('/api/users', 'user');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const [removing, setRemoving] = useState<Operator>();
  const [error, setError] = useState<string>();

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await sendJson('POST', '/api/users', { name, role, password });
      setName('');
      setPassword('');
      users.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const change = async (user: Operator, next: Role) => {
    try {
      await sendJson(
        'PATCH',
        `/api/users/${encodeURIComponent(user.name)}`,
        { role: next },
        user.version ? { 'if-match': `"${user.version}"` } : undefined,
      );
      users.reload();
    } catch (e) {
      setError(`Changing ${user.name} failed: ${(e as Error).message}`);
      users.reload();
    }
  };
  const remove = async (user: Operator) => {
    setRemoving(undefined);
    try {
      await sendJson('DELETE', `/api/users/${encodeURIComponent(user.name)}`);
      users.reload();
    } catch (e) {
      setError(`Removing ${user.name} failed: ${(e as Error).message}`);
    }
  };

  return (
    <section aria-labelledby="admin-users">
      <h2 id="admin-users">Operators</h2>
      <form className="card inline-form" onSubmit={add} aria-label="Add an operator">
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Password (12+ characters)
          <input
            type="password"
            required
            minLength={12}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
        </label>
        <button type="submit" className="primary">
          Add operator
        </button>
      </form>
      {removing && (
        <Confirm
          question={`Remove operator ${removing.name}? Their sessions end now.`}
          action="Remove"
          onConfirm={() => remove(removing)}
          onCancel={() => setRemoving(undefined)}
        />
      )}
      <ErrorLine error={error ?? users.error} />
      <AdminTable
        columns={[
          { header: 'Name', cell: (u) => u.name },
          {
            header: 'Role',
            cell: (u) => (
              <select
                aria-label={`Role of ${u.name}`}
                value={u.role}
                disabled={u.name === session.name}
                onChange={(e) => change(u, e.target.value as Role)}
              >
                <option value="viewer">viewer</option>
                <option value="admin">admin</option>
              </select>
            ),
          },
        ]}
        rows={users.data?.users}
        rowKey={(u) => u.name}
        actions={[
          {
            label: 'Remove',
            danger: true,
            when: (u) => u.name !== session.name,
            run: (row) => setRemoving(row),
          },
        ]}
      />
    </section>
  );
}
