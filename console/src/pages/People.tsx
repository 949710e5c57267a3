/** The directory: search people by id, email or name, filter by status and department. */
import { Link } from 'wouter';
import { seg } from '../api/client.js';
import type { User, UserPage } from '../api/types.js';
import type { Column } from '../ui/DataTable.js';
import type { FilterField } from '../ui/Filters.js';
import { PagedList } from '../ui/PagedList.js';
import { Status } from '../ui/Status.js';

const FIELDS: FilterField[] = [
  { name: 'q', label: 'Search', placeholder: 'id, email or name' },
  { name: 'status', label: 'Status', type: 'select', options: ['ENABLED', 'DISABLED', 'DELETED'] },
  { name: 'department', label: 'Department' },
];

const COLUMNS: Column<User>[] = [
  {
    header: 'Name',
    cell: (user) => (
      <Link href={`/people/${seg(user.id)}`}>
        {user.displayName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || user.id)}
      </Link>
    ),
  },
  { header: 'Email', cell: (user) => user.email },
  { header: 'Status', cell: (user) => <Status value={user.status.toLowerCase()} /> },
  { header: 'Department', cell: (user) => user.department },
  { header: 'Title', cell: (user) => user.title },
  { header: 'Manager', cell: (user) => user.manager },
];

export function PeoplePage() {
  return (
    <PagedList<UserPage, User>
      title="People"
      fields={FIELDS}
      path="/v1/directory/users"
      limit={50}
      rowsOf={(page) => page.users}
      columns={COLUMNS}
      rowKey={(user) => user.id}
      empty="Nobody matches."
    />
  );
}
