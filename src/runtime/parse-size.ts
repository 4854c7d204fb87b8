export { parseSize } from '../util/size.js';
