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
  return parts.some(
    (part) => (part.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0,
  );
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
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        const set = new Set<string>();
        for (const element of node.properties) {
          if (ts.isSpreadAssignment(element)) {
            const type = checker.getNonNullableType(checker.getTypeAtLocation(element.expression));
            const overridden = checker
              .getPropertiesOfType(type)
              .filter((property) => set.has(property.name) && mayBeUndefined(checker, property, element));
            if (overridden.length) {
              const { line } = source.getLineAndCharacterOfPosition(element.getStart(source));
              found.push({
                file,
                line: line + 1,
                keys: overridden.map((property) => property.name),
                text: node.getText(source).replace(/\s+/g, ' ').slice(0, 120),
              });
            }
            for (const property of checker.getPropertiesOfType(type)) set.add(property.name);
          } else if (element.name && !ts.isComputedPropertyName(element.name)) {
            set.add(element.name.getText(source).replace(/^['"]|['"]$/g, ''));
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}
