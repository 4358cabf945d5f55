import { describe, expect, it } from 'vitest';
import { headerChip, listGpioChips, sysfsNumber } from '../src/sensors/gpio/sysfs-numbering.js';
import { fakeSysfsGpio, PI3_KERNEL_6_1, PI4_KERNEL_6_6, PI5_KERNEL_6_6 } from './support/fake-sysfs.js';

async function translate(chips: typeof PI4_KERNEL_6_6, bcm: number, label?: string) {
  return sysfsNumber(headerChip(await listGpioChips(fakeSysfsGpio(chips)), label), bcm);
}

describe('BCM → sysfs GPIO numbers', () => {
  it('kernel before 6.6: the numbers are the BCM numbers', async () => {
    expect(await translate(PI3_KERNEL_6_1, 17)).toBe(17);
  });

  it('kernel 6.6+ on a Pi 4: offset by the chip base 512', async () => {
    expect(await translate(PI4_KERNEL_6_6, 17)).toBe(529);
    expect(await translate(PI4_KERNEL_6_6, 0)).toBe(512);
  });

  it('Pi 5: the header pins live on the RP1 chip, not the first chip', async () => {
    expect(await translate(PI5_KERNEL_6_6, 17)).toBe(588);
  });

  it('a chip label from the config wins', async () => {
    expect(await translate(PI5_KERNEL_6_6, 3, 'gpio-brcmstb@107d517c00')).toBe(551);
  });

  it('says which chips exist when none fits, and refuses a pin the chip lacks', async () => {
    await expect(translate([{ base: 0, label: 'gpio-mockup-A', ngpio: 8 }], 1)).rejects.toThrow(
      /no GPIO chip labelled .*pinctrl-rp1.*found: gpiochip0 "gpio-mockup-A" base 0/,
    );
    await expect(translate(PI4_KERNEL_6_6, 58)).rejects.toThrow(
      'BCM pin 58 does not exist on pinctrl-bcm2711',
    );
  });
});
