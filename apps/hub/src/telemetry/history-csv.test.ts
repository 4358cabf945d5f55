import { describe, expect, it } from 'vitest';
import { csvTextCell, historyToCsv } from './history-csv.js';

describe('csvTextCell', () => {
  it('turns what a spreadsheet would evaluate into text (OWASP CSV injection)', () => {
    expect(csvTextCell('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvTextCell('+cmd|calc!A0')).toBe("'+cmd|calc!A0");
    expect(csvTextCell('-2+3')).toBe("'-2+3");
    expect(csvTextCell('@SUM(A1:A9)')).toBe("'@SUM(A1:A9)");
    expect(csvTextCell('\t=1')).toBe("'\t=1");
    expect(csvTextCell('\r=1')).toBe(`"'\r=1"`);
  });

  it('leaves ordinary text alone and quotes per RFC 4180', () => {
    expect(csvTextCell('°C')).toBe('°C');
    expect(csvTextCell('')).toBe('');
    expect(csvTextCell('a=b')).toBe('a=b');
    expect(csvTextCell('deg "C", indoor')).toBe('"deg ""C"", indoor"');
  });
});

describe('historyToCsv', () => {
  it('neutralises units but keeps negative values numbers', () => {
    const csv = historyToCsv({
      device: 'pi-1',
      from: 0,
      to: 1,
      bucket: '1s',
      bucketMs: 1000,
      agg: 'avg',
      series: [{ metric: 'temp', unit: '=1+1', points: [{ t: 0, v: -3.5 }] }],
    });
    expect(csv).toBe("time,metric,unit,avg\r\n1970-01-01T00:00:00.000Z,temp,'=1+1,-3.5\r\n");
  });
});
