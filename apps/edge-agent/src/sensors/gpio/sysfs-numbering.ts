/**
 * BCM pin numbers → sysfs GPIO numbers. On kernels before 6.6 they were equal; since 6.6 the Pi's GPIO
 * chip sits at base 512 (and on a Pi 5 the header pins belong to the RP1 chip at yet another base), so a
 * config written with BCM numbers, as every pinout diagram has them, is translated through
 * `/sys/class/gpio/gpiochip*\/{base,label,ngpio}`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SYSFS_GPIO_ROOT = '/sys/class/gpio';

export interface GpioChip {
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

/** Labels of the chip carrying the 40-pin header, most specific first (Pi 5, Pi 4, Pi 0-3). */
const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export async function listGpioChips(root = SYSFS_GPIO_ROOT): Promise<GpioChip[]> {
  const names = (await readdir(root)).filter((name) => name.startsWith('gpiochip'));
  const chips: GpioChip[] = [];
  for (const name of names) {
    const read = (file: string) => readFile(join(root, name, file), 'utf8').then((text) => text.trim());
    chips.push({
      name,
      label: await read('label'),
      base: Number(await read('base')),
      ngpio: Number(await read('ngpio')),
    });
  }
  return chips.sort((a, b) => a.base - b.base);
}

export function headerChip(chips: readonly GpioChip[], label?: string): GpioChip {
  const wanted = label ? [label] : HEADER_CHIP_LABELS;
  for (const candidate of wanted) {
    const chip = chips.find((c) => c.label === candidate);
    if (chip) return chip;
  }
  const found = chips.map((c) => `${c.name} "${c.label}" base ${c.base}`).join(', ') || 'none';
  throw new Error(
    `no GPIO chip labelled ${wanted.map((l) => `"${l}"`).join(' or ')} (found: ${found}); set chipLabel in the gpio sensor`,
  );
}

/** The sysfs number of BCM pin `bcm` on `chip`. */
export function sysfsNumber(chip: GpioChip, bcm: number): number {
  if (!Number.isInteger(bcm) || bcm < 0 || bcm >= chip.ngpio) {
    throw new Error(`BCM pin ${bcm} does not exist on ${chip.label} (${chip.ngpio} lines)`);
  }
  return chip.base + bcm;
}
