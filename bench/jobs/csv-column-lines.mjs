// csv-column.mjs with split: 'lines' (only right on a CSV without newlines inside quotes).
import { columnJob } from './csv-column.mjs';
export default columnJob('lines');
