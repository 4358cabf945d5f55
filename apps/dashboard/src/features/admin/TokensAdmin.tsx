import type { Permission } from '@edgewire/protocol';
import { type FormEvent, useState } from 'react';
import { ApiError, sendJson } from '../../api/http';
import type { ClientToken } from '../../api/types';
import { count } from '../fleet/format';
import { AdminTable } from './AdminTable';
import { PermissionEditor, permissionProblems } from './PermissionEditor';
import { Confirm, ErrorLine, SecretOnce } from './parts';
import { useResource } from './use-resource';

const describe = (permissions: Permission[]) =>
  permissions.map((p) => `${p.filter} (${p.access})`).join(', ');

export function TokensAdmin() {
  const tokens = useResource<{ tokens: ClientToken[] }>('/api/tokens', 'token');
  const [issued, setIssued] = useState<{ id: string; token: string }>();
  const [editing, setEditing] = useState<ClientToken>();
  const [revoking, setRevoking] = useState<ClientToken>();
  const [error, setError] = useState<string>();

  const revoke = async (token: ClientToken) => {
    setRevoking(undefined);
    try {
      await sendJson('DELETE', `/api/tokens/${encodeURIComponent(token.id)}`);
      tokens.reload();
    } catch (e) {
      setError(`Revoking failed: ${(e as Error).message}`);
    }
  };

  return (
    <section aria-labelledby="admin-tokens">
      <h2 id="admin-tokens">Client tokens</h2>
      {issued ? (
        <SecretOnce title="Client token created" secret={issued.token} onDone={() => setIssued(undefined)} />
      ) : (
        <TokenForm onSaved={(c) => c && setIssued(c)} />
      )}
      {editing && (
        <TokenForm
          token={editing}
          onSaved={() => setEditing(undefined)}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {revoking && (
        <Confirm
          question={`Revoke token ${revoking.name ?? revoking.id}? Programs using it are disconnected now.`}
          action="Revoke"
          onConfirm={() => revoke(revoking)}
          onCancel={() => setRevoking(undefined)}
        />
      )}
      <ErrorLine error={error ?? tokens.error} />
      <AdminTable
        columns={[
          {
            header: 'Token',
            cell: (t) => (
              <>
                {t.name ?? t.id}
                {t.revokedAt && <span className="chip bad">revoked</span>}
              </>
            ),
          },
          { header: 'Permissions', cell: (t) => describe(t.permissions) },
          {
            header: 'Limits',
            cell: (t) =>
              `${t.maxConnections ? count(t.maxConnections, 'connection') : 'no connection limit'}${
                t.expiresAt ? `, expires ${new Date(t.expiresAt).toLocaleString()}` : ''
              }`,
          },
        ]}
        rows={tokens.data?.tokens}
        rowKey={(t) => t.id}
        actions={[
          { label: 'Edit', when: (t) => !t.revokedAt, run: (row) => setEditing(row) },
          { label: 'Revoke', danger: true, when: (t) => !t.revokedAt, run: (row) => setRevoking(row) },
        ]}
      />
    </section>
  );
}

function TokenForm({
  token,
  onSaved,
  onCancel,
}: {
  token?: ClientToken;
  onSaved(created?: { id: string; token: string }): void;
  onCancel?(): void;
}) {
  const [name, setName] = useState(token?.name ?? '');
  const [permissions, setPermissions] = useState<Permission[]>(
    token?.permissions ?? [{ filter: 'devices/#', access: 'read' }],
  );
  const [maxConnections, setMaxConnections] = useState(
    token?.maxConnections ? String(token.maxConnections) : '',
  );
  const [expiresAt, setExpiresAt] = useState(token?.expiresAt ? token.expiresAt.slice(0, 16) : '');
  const [error, setError] = useState<string>();
  const invalid = permissions.length === 0 || permissionProblems(permissions).some(Boolean);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const body = {
      ...(name ? { name } : token ? { name: null } : {}),
      permissions,
      ...(maxConnections
        ? { maxConnections: Number(maxConnections) }
        : token
          ? { maxConnections: null }
          : {}),
      ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : token ? { expiresAt: null } : {}),
    };
    try {
      if (token) {
        await sendJson(
          'PATCH',
          `/api/tokens/${encodeURIComponent(token.id)}`,
          body,
          token.version ? { 'if-match': `"${token.version}"` } : undefined,
        );
        onSaved();
      } else {
        onSaved(await sendJson<{ id: string; token: string }>('POST', '/api/tokens', body));
      }
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 412
          ? 'Someone else changed this token meanwhile; nothing was overwritten. Cancel and open it again to see their version.'
          : (e as Error).message,
      );
    }
  };

  return (
    <form
      className="card"
      onSubmit={submit}
      aria-label={token ? `Edit token ${token.name ?? token.id}` : 'Create a client token'}
    >
      <h3>{token ? `Edit ${token.name ?? token.id}` : 'New client token'}</h3>
      <div className="inline-form">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="grafana-reader" />
        </label>
        <label>
          Max connections
          <input
            type="number"
            min={1}
            value={maxConnections}
            onChange={(e) => setMaxConnections(e.target.value)}
          />
        </label>
        <label>
          Expires
          <input type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
        </label>
      </div>
      <PermissionEditor value={permissions} onChange={setPermissions} />
      <ErrorLine error={error} />
      <div className="actions">
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="primary" disabled={invalid}>
          {token ? 'Save (connections using it are closed)' : 'Create token'}
        </button>
      </div>
    </form>
  );
}
