import { Alert, Button, Group, Modal, NumberInput, Select, Stack, Tabs, TextInput, Textarea, Title, VisuallyHidden } from '@mantine/core';
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useSession } from '../auth/session-context.tsx';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { DataTable, type Column } from '../shell/data-table.tsx';
import { screenComponent } from '../shell/require.tsx';
import { ErrorState, LoadingState } from '../shell/states.tsx';

const CatalogQuery = graphql(`
  query Catalog {
    sources {
      id
      code
      name
      kind
      owner
      steward
      description
      contact
      trustRank
      active
    }
    fields {
      id
      name
      dataType
      phiClass
      goldenField
      glossaryTerms
      source {
        code
      }
      dataset {
        name
      }
    }
    glossary {
      term
      definition
    }
  }
`);

const UpdateSourceMutation = graphql(`
  mutation UpdateSource($code: String!, $input: UpdateSourceInput!) {
    updateSource(code: $code, input: $input) {
      id
      code
      name
      owner
      steward
      description
      trustRank
    }
  }
`);

const ClassifyFieldMutation = graphql(`
  mutation ClassifyField($input: ClassifyFieldInput!) {
    classifyField(input: $input) {
      id
      phiClass
    }
  }
`);

const DefineTermMutation = graphql(`
  mutation DefineTerm($term: String!, $definition: String!) {
    defineGlossaryTerm(term: $term, definition: $definition) {
      term
      definition
    }
  }
`);

type Catalog = ResultOf<typeof CatalogQuery>;
type Source = Catalog['sources'][number];
type Field = Catalog['fields'][number];
type Classification = VariablesOf<typeof ClassifyFieldMutation>['input'];
const PHI_CLASSES = ['DIRECT_IDENTIFIER', 'QUASI_IDENTIFIER', 'NONE'] as const;

function sourceColumns(canEdit: boolean, edit: (s: Source) => void): Array<Column<Source>> {
  return [
    { header: 'Code', cell: (s) => s.code },
    { header: 'Name', cell: (s) => s.name },
    { header: 'Kind', cell: (s) => s.kind },
    { header: 'Owner', cell: (s) => s.owner ?? '—' },
    { header: 'Steward', cell: (s) => s.steward ?? '—' },
    { header: 'Trust', cell: (s) => s.trustRank },
    { header: 'Status', cell: (s) => (s.active ? 'active' : 'inactive') },
    {
      header: <VisuallyHidden>Actions</VisuallyHidden>,
      cell: (s) =>
        canEdit && (
          <Button size="compact-xs" variant="light" onClick={() => edit(s)} aria-label={`Edit ${s.code}`}>
            Edit
          </Button>
        ),
    },
  ];
}

function fieldColumns(canEdit: boolean, classify: (input: Classification) => void): Array<Column<Field>> {
  return [
    { header: 'Source', cell: (f) => f.source.code },
    { header: 'Dataset', cell: (f) => f.dataset.name },
    { header: 'Field', cell: (f) => f.name },
    { header: 'Type', cell: (f) => f.dataType },
    {
      header: 'PHI class',
      cell: (f) =>
        canEdit ? (
          <Select
            size="xs"
            aria-label={`PHI class of ${f.source.code}.${f.name}`}
            data={[...PHI_CLASSES]}
            value={f.phiClass}
            allowDeselect={false}
            onChange={(v) =>
              v && classify({ source: f.source.code, dataset: f.dataset.name, field: f.name, phiClass: v as (typeof PHI_CLASSES)[number] })
            }
          />
        ) : (
          f.phiClass
        ),
    },
    { header: 'Golden field', cell: (f) => f.goldenField ?? '—' },
    { header: 'Terms', cell: (f) => f.glossaryTerms.join(', ') || '—' },
  ];
}

const GLOSSARY_COLUMNS: ReadonlyArray<Column<Catalog['glossary'][number]>> = [
  { header: 'Term', cell: (g) => g.term, rowHeader: true },
  { header: 'Definition', cell: (g) => g.definition },
];

function SourceEditor({ source, onClose }: { source: Source | null; onClose: () => void }) {
  const session = useSession();
  const [draft, setDraft] = useState<Partial<Source>>({});
  const [result, update] = useMutation(UpdateSourceMutation);
  if (!source) return null;
  const value = <K extends keyof Source>(key: K) => (draft[key] ?? source[key]) as Source[K];
  const save = async () => {
    const input = {
      name: value('name'),
      owner: value('owner'),
      steward: value('steward'),
      description: value('description'),
      ...(session.can('editTrustRank') ? { trustRank: value('trustRank') } : {}),
    };
    const r = await update({ code: source.code, input });
    if (!r.error) {
      setDraft({});
      onClose();
    }
  };
  return (
    <Modal opened onClose={onClose} title={`Edit source ${source.code}`}>
      <Stack>
        <TextInput
          label="Name"
          value={value('name')}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, name: v }));
          }}
        />
        <TextInput
          label="Owner"
          value={value('owner') ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, owner: v }));
          }}
        />
        <TextInput
          label="Steward"
          value={value('steward') ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, steward: v }));
          }}
        />
        <Textarea
          label="Description"
          value={value('description') ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, description: v }));
          }}
        />
        <NumberInput
          label="Trust rank (admin)"
          min={0}
          max={100}
          value={value('trustRank')}
          disabled={!session.can('editTrustRank')}
          description={
            session.can('editTrustRank')
              ? 'Changing it recomputes the golden records this source feeds.'
              : 'Only an admin may change trust.'
          }
          onChange={(v) => setDraft((d) => ({ ...d, trustRank: Number(v) }))}
        />
        {result.error && <ErrorState error={result.error} title="Not saved" />}
        <Group justify="flex-end">
          <Button onClick={save} loading={result.fetching}>
            Save
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function Catalog() {
  const session = useSession();
  const canEdit = session.can('editCatalog');
  const [{ data, fetching, error }, reexecute] = useQuery({ query: CatalogQuery });
  const [editing, setEditing] = useState<Source | null>(null);
  const [classify, runClassify] = useMutation(ClassifyFieldMutation);
  const [define, runDefine] = useMutation(DefineTermMutation);
  const [term, setTerm] = useState({ term: '', definition: '' });
  if (error && !data) return <ErrorState error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />;
  if (fetching && !data) return <LoadingState label="Loading the catalog" />;
  if (!data) return null;
  return (
    <Stack>
      <Title order={2}>Catalog</Title>
      {!canEdit && <Alert color="gray">Read only for your role.</Alert>}
      <Tabs defaultValue="sources" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="sources">Sources ({data.sources.length})</Tabs.Tab>
          <Tabs.Tab value="fields">Fields ({data.fields.length})</Tabs.Tab>
          <Tabs.Tab value="glossary">Glossary ({data.glossary.length})</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="sources" pt="md">
          <DataTable
            label="Sources"
            testId="sources-table"
            columns={sourceColumns(canEdit, setEditing)}
            rows={data.sources}
            rowKey={(r) => r.id}
            empty="No sources registered."
          />
        </Tabs.Panel>
        <Tabs.Panel value="fields" pt="md">
          {classify.error && <ErrorState error={classify.error} title="Not saved" />}
          <DataTable
            label="Fields"
            columns={fieldColumns(canEdit, (input) => runClassify({ input }))}
            rows={data.fields}
            rowKey={(r) => r.id}
            empty="No fields catalogued yet: they are recorded as sources send data."
          />
        </Tabs.Panel>
        <Tabs.Panel value="glossary" pt="md">
          <Stack>
            <DataTable
              label="Glossary"
              columns={GLOSSARY_COLUMNS}
              rows={data.glossary}
              rowKey={(r) => r.term}
              empty="No glossary terms yet."
              striped={false}
            />
            {canEdit && (
              <Group
                align="flex-end"
                component="form"
                onSubmit={async (e) => {
                  e.preventDefault();
                  const r = await runDefine(term);
                  if (!r.error) {
                    setTerm({ term: '', definition: '' });
                    reexecute({ requestPolicy: 'network-only' });
                  }
                }}
              >
                <TextInput
                  label="Term"
                  value={term.term}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    setTerm((t) => ({ ...t, term: v }));
                  }}
                  required
                />
                <TextInput
                  label="Definition"
                  w={420}
                  value={term.definition}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    setTerm((t) => ({ ...t, definition: v }));
                  }}
                  required
                />
                <Button type="submit" loading={define.fetching}>
                  Define term
                </Button>
              </Group>
            )}
            {define.error && <ErrorState error={define.error} title="Not saved" />}
          </Stack>
        </Tabs.Panel>
      </Tabs>
      <SourceEditor
        source={editing}
        onClose={() => {
          setEditing(null);
          reexecute({ requestPolicy: 'network-only' });
        }}
      />
    </Stack>
  );
}

export const Component = screenComponent('/catalog', Catalog);
