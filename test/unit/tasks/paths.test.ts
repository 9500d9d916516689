import { describe, expect, it } from 'vitest';
import { resolveTaskPaths } from '../../../src/tasks/model.ts';

describe('task --paths', () => {
  it('takes FSx file-system paths under the association', () => {
    expect(resolveTaskPaths(['/demo/docs', '/demo/a/b.txt', '/demo/logs/'], '/demo')).toEqual([
      'docs',
      'a/b.txt',
      'logs',
    ]);
  });

  it('takes paths relative to the association root', () => {
    expect(resolveTaskPaths(['docs', 'a//b.txt', 'logs/'], '/demo')).toEqual(['docs', 'a/b.txt', 'logs']);
  });

  it('reads the association path itself as everything', () => {
    expect(resolveTaskPaths(['/demo'], '/demo')).toEqual([]);
    expect(resolveTaskPaths(['/demo/', 'docs'], '/demo')).toEqual([]);
  });

  it('resolves file-system paths of the association at /', () => {
    expect(resolveTaskPaths(['/docs/x'], '/')).toEqual(['docs/x']);
  });

  it.each([['../etc'], ['docs/../../etc'], ['./docs'], ['/other/x'], ['/demonstration/x'], ['/']])(
    'refuses %s with BadRequest',
    (path) => {
      expect(() => resolveTaskPaths([path], '/demo')).toThrow(
        expect.objectContaining({
          code: 'BadRequest',
          message: expect.stringMatching(/is outside the association at \/demo/),
        }),
      );
    },
  );
});
