// Entry of build/mathjs-parse.cjs (npm run build:mathjs, esbuild): mathjs's parser alone, made by
// mathjs's own factory system from the dependencies of `parse` in its number-only build — the
// same parser the lab bundles (mathjs/number). Loaded in about 20 ms where mathjs's full bundle
// takes 130–150 ms of every command that reads an expression. The paths are relative because
// mathjs's package exports do not list these modules.
import { create } from "../node_modules/mathjs/lib/esm/core/create.js";
import { parseDependencies } from "../node_modules/mathjs/lib/esm/entry/dependenciesNumber/dependenciesParse.generated.js";

export const parse = create({ parseDependencies }).parse;
