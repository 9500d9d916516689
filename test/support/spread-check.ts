import ts from 'typescript';

/** One object literal where a later spread can set an earlier key to `undefined`. */
export interface SpreadOverDefaults {
  file: string;
  line: number;
  keys: string[];
  text: string;
}

function mayBeUndefined(checker: ts.TypeChecker, property: ts.Symbol, at: ts.Node): boolean {
  if (property.flags & ts.SymbolFlags.Optional) return true;
  const type = checker.getTypeOfSymbolAtLocation(property, at);
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((part) => (part.flags & ts.TypeFlags.Undefined) !== 0);
}

/**
 * Finds the `{ retryBaseMs: 200, ...options }` shape, derived from types
 * rather than names: an object literal in which a spread comes after keys
 * already set (by properties or by an earlier spread, as in
 * `{ ...DEFAULTS, ...options }`) and the spread's type lets one of those
 * keys be `undefined` (optional, or typed `| undefined`). Such a spread
 * replaces the earlier value with `undefined`; `withDefaults` does not.
 */
export function findSpreadsOverDefaults(program: ts.Program, files: string[]): SpreadOverDefaults[] {
  const checker = program.getTypeChecker();
  const found: SpreadOverDefaults[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`not in the program: ${file}`);
    /** Walks the sources of one merge in order: `{ key, ...spread }` or `Object.assign(target, ...sources)`. */
    type Part = { spread?: ts.Expression; key?: string };
    const check = (at: ts.Node, parts: Part[]) => {
      const set = new Set<string>();
      for (const part of parts) {
        if (part.key !== undefined) {
          set.add(part.key);
          continue;
        }
        const type = checker.getNonNullableType(checker.getTypeAtLocation(part.spread!));
        const overridden = checker
          .getPropertiesOfType(type)
          .filter((property) => set.has(property.name) && mayBeUndefined(checker, property, part.spread!));
        if (overridden.length) {
          const { line } = source.getLineAndCharacterOfPosition(part.spread!.getStart(source));
          found.push({
            file,
            line: line + 1,
            keys: overridden.map((property) => property.name),
            text: at.getText(source).replace(/\s+/g, ' ').slice(0, 120),
          });
        }
        for (const property of checker.getPropertiesOfType(type)) set.add(property.name);
      }
    };
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        check(
          node,
          node.properties.flatMap((element): Part[] =>
            ts.isSpreadAssignment(element)
              ? [{ spread: element.expression }]
              : element.name && !ts.isComputedPropertyName(element.name)
                ? [{ key: element.name.getText(source).replace(/^['"]|['"]$/g, '') }]
                : [],
          ),
        );
      }
      if (
        ts.isCallExpression(node) &&
        node.expression.getText(source) === 'Object.assign' &&
        node.arguments.length > 1
      ) {
        check(
          node,
          node.arguments.map((argument) => ({ spread: argument })),
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}
