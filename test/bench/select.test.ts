import { describe, expect, it } from 'vitest';
import { AUDIO_CHAIN, VIDEO_CHAIN, chainsFor, selectDetectors } from '../../bench/select.ts';
import { DETECTORS } from '../../src/detect/index.ts';

describe('bench selections (bench/vigil.ts and bench/ffmpeg-chain.ts third argument)', () => {
  it('no selection runs every default detector and the whole FFmpeg chain', () => {
    expect(selectDetectors(undefined)).toBeUndefined();
    expect(chainsFor(undefined)).toEqual({ video: VIDEO_CHAIN, audio: AUDIO_CHAIN });
    expect(VIDEO_CHAIN).toBe('blackdetect=d=2:pix_th=0.10,freezedetect=n=-60dB:d=2,blockdetect');
    expect(AUDIO_CHAIN).toBe('ebur128=peak=true:metadata=1,silencedetect=n=-60dB:d=2');
  });

  it('a list leaves only those detectors on; none turns every one off', () => {
    const some = selectDetectors('black,freeze')!;
    for (const d of DETECTORS) expect(some[d.name]).toEqual({ enabled: d.name === 'black' || d.name === 'freeze' });
    const none = selectDetectors('none')!;
    expect(Object.keys(none).sort()).toEqual(DETECTORS.map((d) => d.name).sort());
    for (const d of DETECTORS) expect(none[d.name]).toEqual({ enabled: false });
  });

  it('a filter selection builds each graph from the chosen filters only, in chain order', () => {
    expect(chainsFor('freezedetect')).toEqual({ video: 'freezedetect=n=-60dB:d=2', audio: '' });
    expect(chainsFor('ebur128')).toEqual({ video: '', audio: 'ebur128=peak=true:metadata=1' });
    expect(chainsFor('blockdetect,blackdetect')).toEqual({
      video: 'blackdetect=d=2:pix_th=0.10,blockdetect',
      audio: '',
    });
    expect(chainsFor('none')).toEqual({ video: '', audio: '' });
  });

  it('an unknown name is an error that names it and lists the known ones', () => {
    expect(() => selectDetectors('black,blak')).toThrow(/unknown detector\(s\) blak; known: .*black.*freeze/);
    expect(() => chainsFor('freezedetect,blackdetekt')).toThrow(
      /unknown filter\(s\) blackdetekt; known: blackdetect, freezedetect/,
    );
  });
});
