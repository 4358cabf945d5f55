import { DEVICE_ID_PATTERN, NAME_RULE } from '@edgewire/protocol';
import { type FormEvent, useState } from 'react';
import { ApiError, sendJson } from '../../api/http';
import type { Device } from '../../api/types';
import { labelText } from '../fleet/format';
import { AdminTable } from './AdminTable';
import { Confirm, CopyButton, ErrorLine, SecretOnce } from './parts';
import { useResource } from './use-resource';

/** `site=plant-1, floor=2, outdoor` → `{site: 'plant-1', floor: '2', outdoor: ''}`. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const at = item.indexOf('=');
    if (at < 0) labels[item] = '';
    else labels[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return labels;
}

export function installSnippet(origin: string, deviceId: string, token: string): string {
  const hub = origin.replace(/^http/, 'ws');
  return [
    '# On the Pi, in the edgewire checkout (dependencies installed):',
    `sudo infra/edge/install.sh --hub-url ${hub} --device-id ${deviceId} --token-file - <<'TOKEN'`,
    token,
    'TOKEN',
  ].join('\n');
}

export function DevicesAdmin() {
  const devices = useResource<{ devices: Device[] }>('/api/devices', 'device');
  const [issued, setIssued] = useState<{ id: string; token: string; rotated: boolean }>();
  const [editing, setEditing] = useState<Device>();
  const [deleting, setDeleting] = useState<Device>();
  const [error, setError] = useState<string>();

  const rotate = async (device: Device) => {
    setError(undefined);
    try {
      const credential = await sendJson<{ id: string; token: string }>(
        'POST',
        `/api/devices/${encodeURIComponent(device.id)}/token`,
      );
      setIssued({ ...credential, rotated: true });
    } catch (e) {
      setError(`Rotating ${device.id} failed: ${(e as Error).message}`);
    }
  };
  const remove = async (device: Device) => {
    setDeleting(undefined);
    try {
      await sendJson('DELETE', `/api/devices/${encodeURIComponent(device.id)}`);
      devices.reload();
    } catch (e) {
      setError(`Deleting ${device.id} failed: ${(e as Error).message}`);
    }
  };

  return (
    <section aria-labelledby="admin-devices">
      <h2 id="admin-devices">Devices</h2>
      {issued ? (
        <SecretOnce
          title={
            issued.rotated
              ? `New token for ${issued.id} (the old one no longer works)`
              : `Device ${issued.id} added`
          }
          secret={issued.token}
          onDone={() => setIssued(undefined)}
        >
          <p>Install the agent on the Pi with this token:</p>
          <pre className="snippet">{installSnippet(location.origin, issued.id, issued.token)}</pre>
          <CopyButton
            text={installSnippet(location.origin, issued.id, issued.token)}
            label="Copy install snippet"
          />
        </SecretOnce>
      ) : (
        <AddDevice onAdded={(c) => setIssued({ ...c, rotated: false })} />
      )}
      <ErrorLine error={error ?? devices.error} />
      {editing && <EditDevice device={editing} onClose={() => setEditing(undefined)} />}
      {deleting && (
        <Confirm
          question={`Delete device ${deleting.id}? Its token stops working and its live connection closes now.`}
          action="Delete device"
          onConfirm={() => remove(deleting)}
          onCancel={() => setDeleting(undefined)}
        />
      )}
      <AdminTable
        columns={[
          {
            header: 'Device',
            cell: (d) => (
              <>
                {d.name || d.id}
                {d.name && <div className="muted small">{d.id}</div>}
              </>
            ),
          },
          { header: 'Labels', cell: (d) => labelText(d.labels).join(', ') },
          { header: 'Status', cell: (d) => (d.online ? 'online' : 'offline') },
        ]}
        rows={devices.data?.devices}
        rowKey={(d) => d.id}
        keyName="device"
        actions={[
          { label: 'Edit', run: (row) => setEditing(row) },
          { label: 'Rotate token', run: rotate },
          { label: 'Delete', danger: true, run: (row) => setDeleting(row) },
        ]}
      />
    </section>
  );
}

function AddDevice({ onAdded }: { onAdded(credential: { id: string; token: string }): void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [labels, setLabels] = useState('');
  const [error, setError] = useState<string>();
  const idProblem = id && !DEVICE_ID_PATTERN.test(id) ? `id: ${NAME_RULE}` : undefined;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const credential = await sendJson<{ id: string; token: string }>('POST', '/api/devices', {
        id,
        ...(name ? { name } : {}),
        ...(labels.trim() ? { labels: parseLabels(labels) } : {}),
      });
      setId('');
      setName('');
      setLabels('');
      onAdded(credential);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-label="Add a device">
      <label>
        Device id
        <input
          name="id"
          required
          value={id}
          onChange={(e) => setId(e.target.value)}
          aria-invalid={Boolean(idProblem)}
          placeholder="pi-kitchen"
        />
      </label>
      <label>
        Name
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Kitchen Pi" />
      </label>
      <label>
        Labels
        <input
          name="labels"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
          placeholder="site=home, floor=1"
        />
      </label>
      <button type="submit" className="primary" disabled={!id || Boolean(idProblem)}>
        Add device
      </button>
      <ErrorLine error={idProblem ?? error} />
    </form>
  );
}

/**
 * Edits carry `If-Match` with the version that was opened. When another operator saved first, the hub
 * answers 412 with the current device, which is shown instead of being overwritten.
 */
function EditDevice({ device, onClose }: { device: Device; onClose(): void }) {
  const [base, setBase] = useState(device);
  const [name, setName] = useState(device.name ?? '');
  const [description, setDescription] = useState(device.description ?? '');
  const [labels, setLabels] = useState(labelText(device.labels).join(', '));
  const [conflict, setConflict] = useState<Device>();
  const [error, setError] = useState<string>();

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await sendJson(
        'PATCH',
        `/api/devices/${encodeURIComponent(device.id)}`,
        { name: name || null, description, labels: parseLabels(labels) },
        base.version === undefined ? undefined : { 'if-match': `"${base.version}"` },
      );
      onClose();
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        const current = (e.body as { current?: Device } | undefined)?.current;
        if (current) setConflict(current);
        setError(
          'Someone else changed this device while you were editing. Their version is shown below; nothing was overwritten.',
        );
      } else setError((e as Error).message);
    }
  };
  const takeTheirs = () => {
    if (!conflict) return;
    setBase(conflict);
    setName(conflict.name ?? '');
    setDescription(conflict.description ?? '');
    setLabels(labelText(conflict.labels).join(', '));
    setConflict(undefined);
    setError(undefined);
  };

  return (
    <form className="card" onSubmit={save} aria-label={`Edit ${device.id}`}>
      <h3>Edit {device.id}</h3>
      <label>
        Name
        <input name="edit-name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <textarea
          name="edit-description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          rows={2}
        />
      </label>
      <label>
        Labels
        <input name="edit-labels" value={labels} onChange={(e) => setLabels(e.target.value)} />
      </label>
      <ErrorLine error={error} />
      {conflict && (
        <div className="card conflict" data-testid="conflict">
          <p>
            Current: name <strong>{conflict.name ?? '—'}</strong>, labels{' '}
            <strong>{labelText(conflict.labels).join(', ') || '—'}</strong>, description{' '}
            <strong>{conflict.description || '—'}</strong>
          </p>
          <button type="button" onClick={takeTheirs}>
            Start again from their version
          </button>
        </div>
      )}
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={Boolean(conflict)}>
          Save
        </button>
      </div>
    </form>
  );
}
