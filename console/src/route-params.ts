import { useParams } from 'wouter';

/** A route's parameter as the id or name it stands for: wouter hands the path's segment still percent-encoded (`a%3Ab`). */
export function useRouteParam(name: 'id' | 'name'): string {
  const value = useParams<Record<string, string | undefined>>()[name] ?? '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
