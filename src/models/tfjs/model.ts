// placeholder replaced below
export async function loadTfjs(_pkg: string): Promise<{ tf: any; engine: string }> {
  throw new Error('tfjs engine not available yet');
}
export class TfjsModel {
  constructor(..._a: any[]) { throw new Error('tfjs engine not available yet'); }
}
