import { Link } from '../../app/Link';
import { AuditAdmin } from './AuditAdmin';
import { ConnectionsAdmin } from './ConnectionsAdmin';
import { DevicesAdmin } from './DevicesAdmin';
import { TokensAdmin } from './TokensAdmin';
import { UsersAdmin } from './UsersAdmin';

const TABS = [
  { key: 'devices', label: 'Devices', View: DevicesAdmin },
  { key: 'tokens', label: 'Client tokens', View: TokensAdmin },
  { key: 'connections', label: 'Connections', View: ConnectionsAdmin },
  { key: 'operators', label: 'Operators', View: UsersAdmin },
  { key: 'audit', label: 'Audit log', View: AuditAdmin },
] as const;

export default function AdminPage({ tab }: { tab: string }) {
  const current = TABS.find((t) => t.key === tab) ?? TABS[0];
  return (
    <section aria-labelledby="admin-title">
      <div className="page-head">
        <h1 id="admin-title">Administration</h1>
      </div>
      <nav className="tabs" aria-label="Administration">
        {TABS.map((t) => (
          <Link
            key={t.key}
            href={`/admin/${t.key}`}
            aria-current={t.key === current.key ? 'page' : undefined}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      <current.View />
    </section>
  );
}
