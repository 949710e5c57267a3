import { Link } from 'wouter';
import { PageHeader } from '../ui/Page.js';

export function NotFound() {
  return (
    <>
      <PageHeader title="Not found" />
      <p>
        No page here. <Link href="/">Back to the overview</Link>.
      </p>
    </>
  );
}
