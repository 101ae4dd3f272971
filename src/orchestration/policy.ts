// Orchestration's default policy: readers read stacks, members create and change them in their
// project, admins see across projects.
export const orchestrationPolicy: Record<string, string> = {
  'orchestration:admin': 'role:admin',
  'orchestration:stacks:index': 'role:reader',
  'orchestration:stacks:show': 'role:reader',
  'orchestration:stacks:create': 'role:member',
  'orchestration:stacks:preview': 'role:member',
  'orchestration:stacks:update': 'role:member',
  'orchestration:stacks:preview_update': 'role:member',
  'orchestration:stacks:delete': 'role:member',
  'orchestration:stacks:suspend': 'role:member',
  'orchestration:stacks:resume': 'role:member',
  'orchestration:stacks:check': 'role:member',
  'orchestration:stacks:cancel_update': 'role:member',
  'orchestration:stacks:validate': 'role:reader',
  'orchestration:resources:index': 'role:reader',
  'orchestration:resources:show': 'role:reader',
  'orchestration:resources:signal': 'role:member',
  'orchestration:resources:mark_unhealthy': 'role:member',
  'orchestration:events:index': 'role:reader',
};
