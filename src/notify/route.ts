import type { Incident, IncidentType, Severity } from '../shared/index.ts';
import type { NotifyEvent } from './events.ts';

/** Routing filters of a sink. Every filter that is set must match; an unset filter matches all. */
export interface Route {
  /** Incident type is one of these. */
  readonly types?: readonly IncidentType[];
  /** Incident carries at least one of these tags. */
  readonly tags?: readonly string[];
  /** Incident severity is at least this (minor < major < critical). */
  readonly minSeverity?: Severity;
}

/** Severity order: higher is more severe. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { minor: 0, major: 1, critical: 2 };

/**
 * Whether a sink with this route gets the incident's events. Open and close of one incident
 * always route alike (type, tags and severity are fixed when it opens), so a receiver never
 * sees a close without its open.
 */
export function matchesRoute(route: Route, incident: Incident): boolean {
  if (route.types && !route.types.includes(incident.type)) return false;
  if (route.tags && !route.tags.some((t) => incident.tags.includes(t))) return false;
  if (route.minSeverity && SEVERITY_RANK[incident.severity] < SEVERITY_RANK[route.minSeverity]) return false;
  return true;
}

/** A Sink `accepts` filter for the route, or undefined when the route filters nothing. */
export function routeFilter(route: Route): ((event: NotifyEvent) => boolean) | undefined {
  if (!route.types && !route.tags && !route.minSeverity) return undefined;
  const r: Route = {
    ...(route.types ? { types: [...route.types] } : {}),
    ...(route.tags ? { tags: [...route.tags] } : {}),
    ...(route.minSeverity ? { minSeverity: route.minSeverity } : {}),
  };
  return (event) => matchesRoute(r, event.incident);
}
