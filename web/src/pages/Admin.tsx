/**
 * Variables (with their audit trail), pools and users. Everyone sees variables and pools;
 * changing them, and anything about users, is for admins (the server refuses others with 403).
 * Each section is its own module under pages/admin/.
 */
import { roleRefusal } from '../components/States.tsx';
import { can } from '../lib/status.ts';
import { useMe } from '../session.tsx';
import { Pools } from './admin/Pools.tsx';
import { Users } from './admin/Users.tsx';
import { Variables } from './admin/Variables.tsx';

export default function AdminPage() {
  const me = useMe();
  const admin = can(me.role, 'admin');
  return (
    <>
      <h1>Admin</h1>
      <Variables admin={admin} role={me.role} />
      <Pools admin={admin} role={me.role} />
      <section aria-labelledby="users-title">
        <h2 id="users-title">Users and tokens</h2>
        {admin ? (
          <Users />
        ) : (
          <p className="notice">{roleRefusal(me.role, 'manage users and tokens', 'admin')}</p>
        )}
      </section>
    </>
  );
}
