/** The agent's RSS and CPU while it streams 100 readings/s to a real hub (budget on a Pi: < 60 MB, < 5 %). */
import { join } from 'node:path';
import { benchHub, cpuSeconds, rssMb, sleep, spawnAgent, stop, tempDir } from './support.js';

export async function benchAgentFootprint(seconds = 30): Promise<void> {
  const { hub, close } = await benchHub('postgres');
  try {
    const { token } = await hub.admin.addDevice('bench-footprint');
    const agent = spawnAgent(
      {
        deviceId: 'bench-footprint',
        hub: { url: hub.url },
        buffer: { path: join(tempDir('footprint'), 'buffer.db') },
        sensors: [
          {
            type: 'simulated',
            rateHz: 25,
            signals: ['temperature', 'humidity', 'pressure', 'vibration'].map((metric) => ({
              metric,
              noise: 0.5,
            })),
          },
        ],
      },
      token,
    );
    const pid = agent.pid!;
    await sleep(5000); // start-up (module loading) is not the steady state
    const cpuStart = cpuSeconds(pid);
    const wallStart = performance.now();
    let peak = 0;
    for (let elapsed = 0; elapsed < seconds; elapsed++) {
      await sleep(1000);
      peak = Math.max(peak, rssMb(pid));
    }
    const cpu = (cpuSeconds(pid) - cpuStart) / ((performance.now() - wallStart) / 1000);
    const rows = await hub.database.rows<{ n: string }>(
      "select count(*) as n from readings where device_id = 'bench-footprint'",
    );
    console.log(
      `agent at 100 readings/s for ${seconds} s: RSS ${rssMb(pid).toFixed(1)} MB (peak ${peak.toFixed(1)} MB), ` +
        `CPU ${(cpu * 100).toFixed(2)} % of one core; ${rows[0]?.n} readings stored by the hub`,
    );
    await stop(agent);
  } finally {
    await close();
  }
}
