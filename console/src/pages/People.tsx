/** The directory: search people by id, email or name, filter by status and department. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { UserPage } from '../api/types.js';
import { Filters, Pager, useFilters, type FilterField } from '../ui/Filters.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';

const FIELDS: FilterField[] = [
  { name: 'q', label: 'Search', placeholder: 'id, email or name' },
  { name: 'status', label: 'Status', type: 'select', options: ['ENABLED', 'DISABLED', 'DELETED'] },
  { name: 'department', label: 'Department' },
];

export function PeoplePage() {
  const query = useFilters(FIELDS.map((field) => field.name));
  const users = useQuery({
    queryKey: ['users', query],
    queryFn: () => api.get<UserPage>('/v1/directory/users', { ...query, limit: 50 }),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title="People" />
      <Filters fields={FIELDS} />
      <Loaded query={users}>
        {(page) =>
          page.users.length === 0 ? (
            <p className="muted">Nobody matches.</p>
          ) : (
            <>
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Status</th>
                    <th scope="col">Department</th>
                    <th scope="col">Title</th>
                    <th scope="col">Manager</th>
                  </tr>
                </thead>
                <tbody>
                  {page.users.map((user) => (
                    <tr key={user.id}>
                      <td>
                        <Link href={`/people/${seg(user.id)}`}>
                          {user.displayName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || user.id)}
                        </Link>
                      </td>
                      <td>{user.email}</td>
                      <td>
                        <Status value={user.status.toLowerCase()} />
                      </td>
                      <td>{user.department}</td>
                      <td>{user.title}</td>
                      <td>{user.manager}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager nextCursor={page.nextCursor} />
            </>
          )
        }
      </Loaded>
    </>
  );
}
