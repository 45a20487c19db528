// ESLint flat config: eslint's and typescript-eslint's recommended rules, with type information for src/.
// Formatting is prettier's job (.prettierrc.json); `jlpm lint` runs both, `jlpm lint:fix` applies both.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(globalIgnores(['lib/', '.yarn/']), js.configs.recommended, {
  files: ['src/**/*.ts'],
  extends: [tseslint.configs.recommendedTypeChecked],
  languageOptions: {
    parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
  },
  rules: {
    curly: 'error',
    eqeqeq: ['error', 'smart']
  }
});
