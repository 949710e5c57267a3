/** Tabs kept in the URL (`?tab=`), so a tab can be linked to; real buttons with the ARIA tab pattern. */
import { useId, type ReactNode } from 'react';
import { useSearchParams } from 'wouter';

export function Tabs({ tabs }: { tabs: { id: string; label: string; render: () => ReactNode }[] }) {
  const [params, setParams] = useSearchParams();
  const id = useId();
  const current = tabs.find((tab) => tab.id === params.get('tab')) ?? tabs[0];
  const select = (tab: string) => {
    const next = new URLSearchParams(params);
    next.set('tab', tab);
    setParams(next, { replace: true });
  };
  return (
    <>
      <div role="tablist" className="tabs" aria-label="Sections">
        {tabs.map((tab) => (
          <button
            key={tab.id}
            type="button"
            role="tab"
            id={`${id}-tab-${tab.id}`}
            aria-selected={tab.id === current.id}
            aria-controls={`${id}-panel`}
            className="tab"
            onClick={() => select(tab.id)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${current.id}`} className="tab-panel">
        {current.render()}
      </div>
    </>
  );
}
