import { useState } from 'react';
import { sendJson } from '../../api/http';
import type { Connection } from '../../api/types';
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
      <table className="admin-table">
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col">Address</th>
            <th scope="col">Since</th>
            <th scope="col">Subscriptions</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {connections.data?.connections.map((c) => (
            <tr key={c.conn}>
              <td>
                {c.kind}: {c.device ?? c.operator ?? c.tokenId ?? c.conn}
              </td>
              <td>{c.address}</td>
              <td>{new Date(c.since).toLocaleString()}</td>
              <td>{c.subscriptions.join(', ')}</td>
              <td className="actions">
                <button type="button" className="danger" onClick={() => kick(c.conn)}>
                  Kick
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
