/** A list from the admin API that reloads itself when any window changes it (`$admin/…` events). */
import { useCallback, useEffect, useState } from 'react';
import { getJson } from '../../api/http';
import type { AdminEvent } from '../../api/types';
import { useApp } from '../../app/store-context';

export interface Resource<T> {
  data: T | undefined;
  error: string | undefined;
  reload(): void;
  /** The newest change made by someone else, for a notice. */
  lastEvent: AdminEvent | undefined;
}

export function useResource<T>(path: string, resource: AdminEvent['resource'] | undefined): Resource<T> {
  const { store, session } = useApp();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [lastEvent, setLastEvent] = useState<AdminEvent>();
  const reload = useCallback(() => {
    getJson<T>(path).then(
      (value) => {
        setData(value);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  }, [path]);
  useEffect(() => {
    reload();
    if (!resource) return;
    return store.onAdminEvent((event) => {
      if (event.resource !== resource) return;
      if (event.by !== `user:${session.name}`) setLastEvent(event);
      reload();
    });
  }, [store, reload, resource, session.name]);
  return { data, error, reload, lastEvent };
}
