/**
 * Which other operators have this device's page open. Subscribing to the device's `$viewers` topic is
 * itself what tells the hub that this operator is looking (docs/protocol.md, "Topics"); the hub answers
 * with the retained list and sends it again whenever someone comes or goes.
 */
import type { PageViewers as ViewerList } from '@edgewire/protocol';
import { useEffect, useState } from 'react';
import { useApp } from '../../app/store-context';

export function PageViewers({ deviceId }: { deviceId: string }) {
  const { store, session } = useApp();
  const [others, setOthers] = useState<string[]>([]);
  useEffect(() => {
    setOthers([]);
    const subscription = store.client.subscribe(`$viewers/devices/${deviceId}`, (message) => {
      const list = message.payload as ViewerList | null;
      setOthers((list?.viewers ?? []).map((v) => v.name).filter((name) => name !== session.name));
    });
    return () => subscription.unsubscribe();
  }, [store, deviceId, session.name]);
  return (
    <p className="muted small" aria-live="polite" data-testid="page-viewers">
      {others.length === 0
        ? 'No other operator is looking at this device.'
        : `Also looking: ${others.join(', ')}`}
    </p>
  );
}
