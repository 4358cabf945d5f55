/**
 * A device's commands (GPIO outputs): `devices/{id}/cmd/{name}` with `{"value": 0|1, "id"}`, answered by
 * the agent on `devices/{id}/cmd-result/{name}` with the same id. Every button press ends in a visible
 * result: the agent's answer, the hub's refusal, or "no answer". The agent advertises its commands on
 * `devices/{id}/cmd-list` (retained); an operator may add others by name (kept in this browser), for an
 * agent too old to advertise.
 */
import { type CommandList, NAME_PATTERN, NAME_RULE } from '@edgewire/protocol';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useApp } from '../../app/store-context';

const ANSWER_TIMEOUT_MS = 10_000;
const storageKey = (deviceId: string) => `edgewire.commands.${deviceId}`;

interface Outcome {
  command: string;
  text: string;
  ok: boolean | undefined;
}

function knownCommands(deviceId: string): string[] {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(deviceId)) ?? '[]');
    return Array.isArray(saved) ? saved.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

export function CommandsPanel({ deviceId }: { deviceId: string }) {
  const { store } = useApp();
  const [added, setAdded] = useState<string[]>(() => knownCommands(deviceId));
  const [advertised, setAdvertised] = useState<string[]>([]);
  const commands = [...new Set([...advertised, ...added])].sort();
  const [draft, setDraft] = useState('');
  const [outcomes, setOutcomes] = useState<Record<string, Outcome>>({});
  const [waiting] = useState(
    () => new Map<string, { command: string; timer: ReturnType<typeof setTimeout> }>(),
  );

  const remember = (list: string[]) => {
    setAdded(list);
    localStorage.setItem(storageKey(deviceId), JSON.stringify(list));
  };
  const show = useCallback(
    (outcome: Outcome) => setOutcomes((all) => ({ ...all, [outcome.command]: outcome })),
    [],
  );

  useEffect(() => {
    setAdvertised([]);
    const subscription = store.client.subscribe(`devices/${deviceId}/cmd-list`, (message) => {
      const list = message.payload as CommandList | null;
      setAdvertised(Array.isArray(list?.commands) ? list.commands : []);
    });
    return () => subscription.unsubscribe();
  }, [store, deviceId]);

  useEffect(() => {
    const subscription = store.client.subscribe(`devices/${deviceId}/cmd-result/+`, (message) => {
      const answer = message.payload as { ref?: unknown; ok?: unknown; error?: unknown } | null;
      const command = message.topic.split('/').pop()!;
      const pending = typeof answer?.ref === 'string' ? waiting.get(answer.ref) : undefined;
      if (pending) {
        clearTimeout(pending.timer);
        waiting.delete(answer!.ref as string);
      }
      const ok = answer?.ok === true;
      show({ command, ok, text: ok ? 'done' : `failed: ${String(answer?.error ?? 'no reason given')}` });
    });
    return () => {
      subscription.unsubscribe();
      for (const { timer } of waiting.values()) clearTimeout(timer);
      waiting.clear();
    };
  }, [store, deviceId, waiting, show]);

  const send = async (command: string, value: 0 | 1) => {
    const id = crypto.randomUUID();
    show({ command, ok: undefined, text: `sending ${value ? 'on' : 'off'}…` });
    try {
      await store.client.publish(`devices/${deviceId}/cmd/${command}`, { value, id });
      waiting.set(id, {
        command,
        timer: setTimeout(() => {
          waiting.delete(id);
          show({
            command,
            ok: false,
            text: 'no answer from the device within 10 s (offline, or no such command)',
          });
        }, ANSWER_TIMEOUT_MS),
      });
      show({ command, ok: undefined, text: 'sent; waiting for the device…' });
    } catch (error) {
      show({ command, ok: false, text: `not sent: ${(error as Error).message}` });
    }
  };

  const nameProblem = draft && !NAME_PATTERN.test(draft) ? NAME_RULE : undefined;
  const add = (event: FormEvent) => {
    event.preventDefault();
    if (!draft || nameProblem || commands.includes(draft)) return;
    remember([...added, draft].sort());
    setDraft('');
  };

  return (
    <section className="card" aria-labelledby="commands-title">
      <h2 id="commands-title">Commands</h2>
      {commands.length === 0 && (
        <p className="muted">
          The device's agent has not said which commands it answers; add the command names of its GPIO outputs
          (its agent.yaml).
        </p>
      )}
      <ul className="commands">
        {commands.map((command) => (
          <li key={command}>
            <span className="command-name">{command}</span>
            <button type="button" onClick={() => send(command, 1)}>
              On
            </button>
            <button type="button" onClick={() => send(command, 0)}>
              Off
            </button>
            {added.includes(command) && !advertised.includes(command) && (
              <button
                type="button"
                className="ghost"
                aria-label={`Forget ${command}`}
                onClick={() => remember(added.filter((c) => c !== command))}
              >
                ×
              </button>
            )}
            <output className={outcomes[command]?.ok === false ? 'error' : 'muted'}>
              {outcomes[command]?.text}
            </output>
          </li>
        ))}
      </ul>
      <form onSubmit={add} className="inline-form">
        <label>
          Command name
          <input
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            aria-invalid={Boolean(nameProblem)}
            placeholder="relay"
          />
        </label>
        <button type="submit" disabled={!draft || Boolean(nameProblem)}>
          Add
        </button>
        {nameProblem && <p className="error small">{nameProblem}</p>}
      </form>
    </section>
  );
}
