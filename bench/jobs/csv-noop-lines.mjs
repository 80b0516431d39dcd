// csv-noop.mjs with split: 'lines'.
import { noopJob } from './csv-noop.mjs';
export default noopJob('lines');
