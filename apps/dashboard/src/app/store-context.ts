import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Session } from '../api/types';
import type { LiveStore } from '../live/live-store';

export interface AppContext {
  store: LiveStore;
  session: Session;
}

export const StoreContext = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const context = useContext(StoreContext);
  if (!context) throw new Error('useApp outside the signed-in app');
  return context;
}

/** Re-renders when the store's structure changes (at most once per frame). */
export function useStructure<T>(read: (store: LiveStore) => T): T {
  const { store } = useApp();
  return useSyncExternalStore(store.subscribeStructure, () => read(store));
}
