/** A /sys/class/gpio tree in a temp dir, shaped like a real kernel's. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp-dir.js';

export function fakeSysfsGpio(chips: Array<{ base: number; label: string; ngpio: number }>): string {
  const root = tempDir('sysfs-gpio-');
  writeFileSync(join(root, 'export'), '');
  writeFileSync(join(root, 'unexport'), '');
  for (const chip of chips) {
    const dir = join(root, `gpiochip${chip.base}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'base'), `${chip.base}\n`);
    writeFileSync(join(dir, 'label'), `${chip.label}\n`);
    writeFileSync(join(dir, 'ngpio'), `${chip.ngpio}\n`);
  }
  return root;
}

/** Raspberry Pi 4 on kernel 6.6+: the SoC's lines start at 512; the firmware expander follows. */
export const PI4_KERNEL_6_6 = [
  { base: 512, label: 'pinctrl-bcm2711', ngpio: 58 },
  { base: 570, label: 'raspberrypi-exp-gpio', ngpio: 8 },
];
/** Raspberry Pi 3 on kernel 6.1: numbers equal BCM numbers. */
export const PI3_KERNEL_6_1 = [
  { base: 0, label: 'pinctrl-bcm2835', ngpio: 54 },
  { base: 504, label: 'raspberrypi-exp-gpio', ngpio: 8 },
];
/** Raspberry Pi 5 on kernel 6.6+: the header belongs to RP1, after the SoC's own chips. */
export const PI5_KERNEL_6_6 = [
  { base: 512, label: 'gpio-brcmstb@107d508500', ngpio: 32 },
  { base: 544, label: 'gpio-brcmstb@107d508520', ngpio: 4 },
  { base: 548, label: 'gpio-brcmstb@107d517c00', ngpio: 17 },
  { base: 565, label: 'gpio-brcmstb@107d517c20', ngpio: 6 },
  { base: 571, label: 'pinctrl-rp1', ngpio: 54 },
];
