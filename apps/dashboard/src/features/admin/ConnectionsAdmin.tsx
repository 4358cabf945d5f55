import { useState } from 'react';
import { sendJson } from '../../api/http';
import type { Connection } from '../../api/types';
import { AdminTable } from './AdminTable';
import { ErrorLine } from './parts';
import { useResource } from './use-resource';

export function ConnectionsAdmin() {
  const connections = useResource<{ connections: Connection[] }>('/api/connections', 'connection');
  const [error, setError] = useState<string>();
  const kick = async (conn: string) => {
    setError(undefined);
    try {
      await sendJson('DELETE', `/api/connections/${encodeURIComponent(conn)}`);
      connections.reload();
    } catch (e) {
      setError(`Kicking failed: ${(e as Error).message}`);
    }
  };
  return (
    <section aria-labelledby="admin-connections">
      <h2 id="admin-connections">Live connections</h2>
      <button type="button" onClick={connections.reload}>
        Refresh
      </button>
      <ErrorLine error={error ?? connections.error} />
      <AdminTable
        columns={[
          { header: 'Who', cell: (c) => `${c.kind}: ${c.device ?? c.operator ?? c.tokenId ?? c.conn}` },
          { header: 'Address', cell: (c) => c.address },
          { header: 'Since', cell: (c) => new Date(c.since).toLocaleString() },
          { header: 'Subscriptions', cell: (c) => c.subscriptions.join(', ') },
        ]}
        rows={connections.data?.connections}
        rowKey={(c) => c.conn}
        actions={[{ label: 'Kick', danger: true, run: (c) => kick(c.conn) }]}
      />
    </section>
  );
}
